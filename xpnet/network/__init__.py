"""The network in course notation: activations, initializers, the L-layer model, optimizers,
schedules, batch norm, gradient checking, training and the estimators."""

from .data import Normalizer, train_dev_test_split
from .estimator import NeuralNetwork, NeuralNetworkRegressor
from .gradcheck import gradient_check
from .logistic import LogisticRegression
from .model import (Architecture, backward, compute_cost, forward, initialize_parameters,
                    predict_output, update_parameters)
from .optimizers import OPTIMIZERS, make_optimizer
from .schedules import SCHEDULES, exponentially_weighted_average, make_schedule
from .search import Beta, Choice, Integer, Real, grid_search, random_search
from .training import TrainingDiverged

__all__ = ["NeuralNetwork", "NeuralNetworkRegressor", "LogisticRegression", "Architecture",
           "initialize_parameters", "forward", "compute_cost", "backward", "update_parameters",
           "predict_output", "gradient_check", "make_optimizer", "OPTIMIZERS", "make_schedule",
           "SCHEDULES", "exponentially_weighted_average", "train_dev_test_split", "Normalizer",
           "random_search", "grid_search", "Real", "Beta", "Integer", "Choice",
           "TrainingDiverged"]
