"""Learning-rate decay schedules, and exponentially weighted averages of a noisy series.

Reproduces "Learning Rate Decay" of seed 001 (``alpha = alpha0 / (1 + decay_rate *
epoch)``, ``0.95 ** epoch * alpha0``, ``k / sqrt(epoch) * alpha0``; plus a staircase) as
``xpnet.network.schedules.make_schedule`` computes them, the course's fixed-interval
``xpnet.course.schedule_lr_decay``, and a network trained with ``lr_decay``; then
"Exponentially weighted averages" of seed 001: ``V_t = beta V_(t-1) + (1 - beta) theta_t`` over
a year of noisy daily temperatures, with beta 0.9 (about 10 days), 0.98 (about 50) and 0.5
(about 2), with and without the bias correction ``V_t / (1 - beta ** t)``.

Run:  XPNET_BACKEND=numpy python examples/08_lr_decay_and_ewa.py [--out DIR] [--quick]
"""

from __future__ import annotations

import numpy as np

import xpnet
from _common import acc, curves, out_path, parse_args, table, wrote
from xpnet import course
from xpnet.datasets import make_moons
from xpnet.network import exponentially_weighted_average
from xpnet.network.schedules import make_schedule
from xpnet.plots import plot_ewa, plot_history

LR0 = 0.1
SCHEDULES = {
    "inverse_time (decay_rate 1)": {"kind": "inverse_time", "decay_rate": 1.0},
    "inverse_time (0.5, every 10)": {"kind": "inverse_time", "decay_rate": 0.5,
                                     "time_interval": 10},
    "exponential (0.95 ** epoch)": {"kind": "exponential", "base": 0.95},
    "inverse_sqrt (k 1)": {"kind": "inverse_sqrt", "k": 1.0},
    "staircase (x0.5 every 10)": {"kind": "staircase", "factor": 0.5, "step": 10},
}
BETAS = (0.9, 0.98, 0.5)


def temperatures(days=365, seed=0):
    """A year of daily temperatures: a seasonal cosine plus N(0, 3^2) day-to-day noise."""
    t = np.arange(days)
    noise = np.random.default_rng(seed).normal(0.0, 3.0, days)
    return 12.0 - 8.0 * np.cos(2 * np.pi * (t - 20) / 365) + noise


def main(argv=None):
    args = parse_args(__doc__, argv)
    n_epochs = 100

    # --- the schedules, epoch 0 first
    rates = {name: [make_schedule(spec, LR0)(e) for e in range(n_epochs)]
             for name, spec in SCHEDULES.items()}
    shown = (0, 1, 2, 5, 10, 20, 50, 99)
    table(["schedule \\ epoch"] + list(shown),
          [[name] + [r[e] for e in shown] for name, r in rates.items()],
          title=f"make_schedule(spec, lr0={LR0})(epoch)", digits=3)
    print(f"0.95 ** 10 * {LR0} = {0.95 ** 10 * LR0:.6f}; xpnet exponential at epoch 10: "
          f"{rates['exponential (0.95 ** epoch)'][10]:.6f}\n")
    curves(rates, out_path(args, "lr_schedules.png"), ylabel="learning rate", logy=True,
           title=f"learning-rate decay schedules (lr0 = {LR0})", x=np.arange(n_epochs),
           xlabel="epoch (from 0)")

    # --- the course's fixed-interval decay: lr0 / (1 + decay_rate * floor(epoch / interval))
    epochs = (0, 999, 1000, 1999, 2000, 5000, 10000)
    table(["function \\ epoch_num"] + list(epochs),
          [["schedule_lr_decay(0.1, e, 1, 1000)"]
           + [course.schedule_lr_decay(0.1, e, 1.0, time_interval=1000) for e in epochs],
           ["update_lr(0.1, e, 1)"] + [course.update_lr(0.1, e, 1.0) for e in epochs]],
          digits=3)

    # --- a network trained with a decaying learning rate
    X, y = make_moons(300, noise=0.2, seed=3)
    rows = []
    for name, decay in (("constant 0.5", None),
                        ("inverse_time 0.5 every 10", SCHEDULES["inverse_time (0.5, every 10)"])):
        net = xpnet.NeuralNetwork(hidden=(16,), optimizer="gd", learning_rate=0.5, batch_size=32,
                                  lr_decay=decay, epochs=30 if args.quick else 100,
                                  seed=0).fit(X, y)
        rows.append([name, net.history_["lr"][0], net.history_["lr"][-1],
                     net.history_["cost"][-1], acc(net.score(X, y))])
    table(["lr_decay", "lr first epoch", "lr last epoch", "final cost", "accuracy"], rows,
          title="NeuralNetwork(hidden=(16,), optimizer='gd', learning_rate=0.5, lr_decay=...) "
                "on moons", digits=4)
    wrote(plot_history(net, out_path(args, "lr_decay_history.png"),
                       title="training with inverse_time decay every 10 epochs"))

    # --- exponentially weighted averages of the temperatures
    theta = temperatures(120 if args.quick else 365)
    rows = []
    for beta in BETAS:
        raw = exponentially_weighted_average(theta, beta, bias_correction=False)
        fixed = exponentially_weighted_average(theta, beta, bias_correction=True)
        rows.append([beta, f"{1 / (1 - beta):.0f}", raw[0], fixed[0], raw[9], fixed[9],
                     raw[-1], fixed[-1]])
    print(f"theta_1 = {theta[0]:.3f}, theta_10 = {theta[9]:.3f}, theta_last = {theta[-1]:.3f}")
    table(["beta", "~days averaged", "V_1", "V_1 corr.", "V_10", "V_10 corr.", "V_last",
           "V_last corr."], rows,
          title=f"V_t = beta V_(t-1) + (1 - beta) theta_t over {len(theta)} days "
                "(corr.: / (1 - beta ** t))", digits=4)
    wrote(plot_ewa(theta, out_path(args, "ewa_temperatures.png"), betas=BETAS,
                   bias_correction="both", title="daily temperature and its exponentially "
                                                 "weighted averages"))


if __name__ == "__main__":
    main()
