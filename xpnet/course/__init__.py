"""The course companion: every assignment step under the course's name, in its data shapes.

For learners checking an assignment against xpnet, and teachers writing one: each function
takes what the notebook's function takes (plain dicts of arrays ``{"W1": ..., "b1": ...}``,
``X (n_x, m)``, ``Y (1, m)``, the course's cache tuples) and returns what it returns, computed
by the definitions of ``xpnet.ops`` that the estimators train with. A ``seed`` means the
course's ``np.random.seed(seed)``: the draws of ``np.random.RandomState(seed)``, which are the
course's, without touching the global state.

- deep network (``xpnet.course.deep``): ``initialize_parameters``,
  ``initialize_parameters_deep``, ``linear_forward``, ``linear_activation_forward``,
  ``L_model_forward`` (with dropout), ``compute_cost``, ``compute_cost_with_regularization``,
  ``linear_backward``, ``linear_activation_backward``, ``L_model_backward``,
  ``update_parameters``, ``predict``;
- logistic regression (``xpnet.course.logistic``): ``initialize_with_zeros``, ``propagate``,
  ``optimize``, ``predict_logistic`` (the notebook's ``predict(w, b, X)``), ``model``;
- optimization (``xpnet.course.optimization``): ``random_mini_batches``,
  ``initialize_velocity``, ``update_parameters_with_momentum``, ``initialize_adam``,
  ``update_parameters_with_adam`` (corrected moments too), ``update_parameters_with_gd``,
  ``update_lr``, ``schedule_lr_decay``;
- gradient checking (``xpnet.course.gradcheck``): ``gradient_check`` for any ``J(theta)``,
  ``gradient_check_n``, ``dictionary_to_vector``, ``vector_to_dictionary``.

xpnet's own names remain: ``xpnet.forward`` and friends take an ``Architecture`` and also
accept the plain ``parameters`` dict.
"""

from .deep import (L_model_backward, L_model_forward, compute_cost,
                   compute_cost_with_regularization, initialize_parameters,
                   initialize_parameters_deep, linear_activation_backward,
                   linear_activation_forward, linear_backward, linear_forward, predict,
                   update_parameters)
from .gradcheck import (dictionary_to_vector, gradient_check, gradient_check_n,
                        vector_to_dictionary)
from .logistic import initialize_with_zeros, model, optimize, predict_logistic, propagate
from .optimization import (initialize_adam, initialize_velocity, random_mini_batches,
                           schedule_lr_decay, update_lr, update_parameters_with_adam,
                           update_parameters_with_gd, update_parameters_with_momentum)

__all__ = ["initialize_parameters", "initialize_parameters_deep", "linear_forward",
           "linear_activation_forward", "L_model_forward", "compute_cost",
           "compute_cost_with_regularization", "linear_backward", "linear_activation_backward",
           "L_model_backward", "update_parameters", "predict", "initialize_with_zeros",
           "propagate", "optimize", "predict_logistic", "model", "random_mini_batches",
           "initialize_velocity", "update_parameters_with_momentum", "initialize_adam",
           "update_parameters_with_adam", "update_parameters_with_gd", "update_lr",
           "schedule_lr_decay", "gradient_check", "gradient_check_n", "dictionary_to_vector",
           "vector_to_dictionary"]
