"""``bench/bench_gpu_epoch.py`` checked on the CPU (``--device cpu``) where PyTorch is installed:
every PyTorch setting starts from xpnet's weights and, without dropout, ends an epoch with
xpnet's cost; the settings a machine lacks are reported with their reason, not skipped."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import load_bench_script

torch = pytest.importorskip("torch", reason="PyTorch is not installed")


def load_bench():
    return load_bench_script("bench_gpu_epoch")


SMALL = ["--device", "cpu", "--samples", "300", "--features", "6", "--hidden", "8",
         "--classes", "3", "--batch-sizes", "64", "--epochs", "1", "--warmup", "1",
         "--dtype", "float64"]


def test_every_setting_computes_the_same_epoch_and_dropout_rows_follow(tmp_path, capsys):
    bench = load_bench()
    path = tmp_path / "out.json"
    assert bench.main([*SMALL, "--peers", "eager", "fused", "graph", "--keep-prob", "0.7",
                       "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "torch graph: not run: CUDA graphs need a CUDA device" in out
    result = json.loads(path.read_text())
    (plain,), (dropout,) = result["results"], result["dropout"]
    for peer in ("torch_eager", "torch_fused"):
        np.testing.assert_allclose(plain[f"{peer}_final_cost"], plain["xpnet_final_cost"],
                                   rtol=1e-9)
        assert np.isfinite(dropout[f"{peer}_final_cost"])
    assert plain["torch_graph_unavailable"] == "CUDA graphs need a CUDA device"
    assert plain["best_torch"] in ("torch eager", "torch fused")
    assert plain["xpnet_over_best_torch"] > 0
    assert "xpnet dropout / no dropout" in out


def test_the_torch_model_starts_from_xpnets_weights_with_dropout_after_each_hidden_relu():
    bench = load_bench()
    args = bench.parse_args([*SMALL, "--hidden", "8", "5"])
    model = bench.torch_model(torch, torch.device("cpu"), args, keep_prob=0.6)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert model[2].p == pytest.approx(0.4)
    from xpnet.network.model import Architecture, initialize_parameters
    arch = Architecture((6, 8, 5, 3), "relu", "softmax")
    params = initialize_parameters(arch, "he", 0, "float64", "numpy").to_numpy()
    np.testing.assert_array_equal(model[3].weight.detach().numpy(), params["W2"])
    np.testing.assert_array_equal(model[6].bias.detach().numpy(), params["b3"][:, 0])


def test_bad_arguments_are_refused(capsys):
    bench = load_bench()
    with pytest.raises(SystemExit):
        bench.parse_args(["--keep-prob", "0"])
    assert "--keep-prob must be in (0, 1]" in capsys.readouterr().err
