"""Learners' notebooks, written as the course's notebooks are (seeds 000, 001, 004), with planted bugs.

Each notebook is a list of code cells; ``notebook(cells)`` makes it with nbformat.v4 (markdown
cells in between, as in the course). The code is the course's own, independent of chainrule.
"""

from __future__ import annotations

import nbformat

IMPORTS = """import numpy as np
import h5py
import matplotlib.pyplot as plt
from testCases_v4a import *
from dnn_utils_v2 import sigmoid, sigmoid_backward, relu, relu_backward
from public_tests import *

%matplotlib inline
plt.rcParams['figure.figsize'] = (5.0, 4.0)
%load_ext autoreload
%autoreload 2

np.random.seed(1)
"""

INIT = '''def initialize_parameters(n_x, n_h, n_y):
    np.random.seed(1)
    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
'''

INIT_TEST = """parameters = initialize_parameters(3,2,1)
print("W1 = " + str(parameters["W1"]))
initialize_parameters_test(initialize_parameters)
"""

INIT_DEEP = '''def initialize_parameters_deep(layer_dims):
    np.random.seed(3)
    parameters = {}
    L = len(layer_dims)
    for l in range(1, L):
        parameters['W' + str(l)] = np.random.randn(layer_dims[l], layer_dims[l-1]) * 0.01
        parameters['b' + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters
'''

FORWARD = '''def linear_forward(A, W, b):
    Z = np.dot(W, A) + b
    cache = (A, W, b)
    return Z, cache


def linear_activation_forward(A_prev, W, b, activation):
    if activation == "sigmoid":
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = sigmoid(Z)
    elif activation == "relu":
        Z, linear_cache = linear_forward(A_prev, W, b)
        A, activation_cache = relu(Z)
    cache = (linear_cache, activation_cache)
    return A, cache


def L_model_forward(X, parameters):
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A_prev = A
        A, cache = linear_activation_forward(A_prev, parameters['W%s' % l], parameters['b%s' % l], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters['W%s' % L], parameters['b%s' % L], "sigmoid")
    caches.append(cache)
    return AL, caches
'''

COST = '''def compute_cost(AL, Y):
    m = Y.shape[1]
    cost = -1. / m * (np.dot(np.log(AL), Y.T) + np.dot(np.log(1 - AL), (1 - Y).T))
    cost = np.squeeze(cost)
    return cost
'''

LINEAR_BACKWARD = '''def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = 1 / m * np.dot(dZ, A_prev.T)
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db
'''

LAB = '''def linear_activation_backward(dA, cache, activation):
    linear_cache, activation_cache = cache
    if activation == "relu":
        dZ = relu_backward(dA, activation_cache)
        dA_prev, dW, db = linear_backward(dZ, linear_cache)
    elif activation == "sigmoid":
        dZ = sigmoid_backward(dA, activation_cache)
        dA_prev, dW, db = linear_backward(dZ, linear_cache)
    return dA_prev, dW, db
'''

L_BACKWARD = '''def L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    m = AL.shape[1]
    Y = Y.reshape(AL.shape)
    dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    current_cache = caches[L - 1]
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = \\
        linear_activation_backward(dAL, current_cache, "sigmoid")
    for l in reversed(range(L - 1)):
        current_cache = caches[l]
        dA_prev_temp, dW_temp, db_temp = linear_activation_backward(
            grads["dA" + str(l + 1)], current_cache, "relu")
        grads["dA" + str(l)] = dA_prev_temp
        grads["dW" + str(l + 1)] = dW_temp
        grads["db" + str(l + 1)] = db_temp
    return grads
'''

UPDATE = '''def update_parameters(params, grads, learning_rate):
    parameters = params.copy()
    L = len(parameters) // 2
    for l in range(L):
        parameters["W" + str(l+1)] = parameters["W" + str(l+1)] - learning_rate * grads["dW" + str(l+1)]
        parameters["b" + str(l+1)] = parameters["b" + str(l+1)] - learning_rate * grads["db" + str(l+1)]
    return parameters
'''

TRAIN = """parameters = initialize_parameters_deep([5, 4, 3])
for i in range(3000):
    AL, caches = L_model_forward(np.random.randn(5, 10), parameters)
"""

STEP_BY_STEP = [IMPORTS, INIT, INIT_TEST, INIT_DEEP, FORWARD, COST, LINEAR_BACKWARD, LAB, L_BACKWARD, UPDATE,
                TRAIN]

# seed 001: relu's and sigmoid's backward exchanged in linear_activation_backward
SWAPPED_LAB = LAB.replace("dZ = relu_backward(dA, activation_cache)", "dZ = SIGMOID_BACKWARD") \
    .replace("dZ = sigmoid_backward(dA, activation_cache)", "dZ = relu_backward(dA, activation_cache)") \
    .replace("SIGMOID_BACKWARD", "sigmoid_backward(dA, activation_cache)")

# dZ written into dA (the caller's array) in the relu branch
INPLACE_LAB = LAB.replace("dZ = relu_backward(dA, activation_cache)",
                          "dZ = dA\n        dZ[activation_cache <= 0] = 0")

NO_MEAN_LINEAR_BACKWARD = LINEAR_BACKWARD.replace("dW = 1 / m * np.dot", "dW = np.dot")

GC_IMPORTS = """import numpy as np
from testCases import *
from gc_utils import sigmoid, relu, dictionary_to_vector, vector_to_dictionary, gradients_to_vector
"""

GC_1D = '''def forward_propagation(x, theta):
    J = theta * x
    return J


def backward_propagation(x, theta):
    dtheta = x
    return dtheta


def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    thetaplus = theta + epsilon
    thetaminus = theta - epsilon
    J_plus = forward_propagation(x, thetaplus)
    J_minus = forward_propagation(x, thetaminus)
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = numerator / denominator
    if print_msg:
        print("difference = " + str(difference))
    return difference
'''

GC_N = '''def forward_propagation_n(X, Y, parameters):
    m = X.shape[1]
    W1 = parameters["W1"]
    b1 = parameters["b1"]
    W2 = parameters["W2"]
    b2 = parameters["b2"]
    W3 = parameters["W3"]
    b3 = parameters["b3"]
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    logprobs = np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y)
    cost = 1. / m * np.sum(logprobs)
    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return cost, cache


def backward_propagation_n(X, Y, cache):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1. / m * np.dot(dZ3, A2.T)
    db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1. / m * np.dot(dZ2, A1.T)
    db2 = 1. / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1. / m * np.dot(dZ1, X.T)
    db1 = 1. / m * np.sum(dZ1, axis=1, keepdims=True)
    gradients = {"dZ3": dZ3, "dW3": dW3, "db3": db3,
                 "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
                 "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}
    return gradients


def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7):
    parameters_values, _ = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients)
    num_parameters = parameters_values.shape[0]
    J_plus = np.zeros((num_parameters, 1))
    J_minus = np.zeros((num_parameters, 1))
    gradapprox = np.zeros((num_parameters, 1))
    for i in range(num_parameters):
        thetaplus = np.copy(parameters_values)
        thetaplus[i][0] = thetaplus[i][0] + epsilon
        J_plus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(thetaplus))
        thetaminus = np.copy(parameters_values)
        thetaminus[i][0] = thetaminus[i][0] - epsilon
        J_minus[i], _ = forward_propagation_n(X, Y, vector_to_dictionary(thetaminus))
        gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = numerator / denominator
    if difference > 2e-7:
        print("\\033[93m" + "There is a mistake in the backward propagation! difference = " + str(difference))
    else:
        print("\\033[92m" + "Your backward propagation works perfectly fine! difference = " + str(difference))
    return difference
'''

GC_RUN = """X, Y, parameters = gradient_check_n_test_case()
cost, cache = forward_propagation_n(X, Y, parameters)
gradients = backward_propagation_n(X, Y, cache)
difference = gradient_check_n(parameters, gradients, X, Y)
"""

GRADIENT_CHECKING = [GC_IMPORTS, GC_1D, GC_N, GC_RUN]

# seed 000's two planted bugs
PLANTED_GC_N = GC_N.replace("dW2 = 1. / m * np.dot(dZ2, A1.T)", "dW2 = 1. / m * np.dot(dZ2, A1.T) * 2") \
    .replace("db1 = 1. / m * np.sum(dZ1", "db1 = 4. / m * np.sum(dZ1")


def notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for i, source in enumerate(cells):
        nb.cells.append(nbformat.v4.new_markdown_cell(f"## Exercise {i}"))
        nb.cells.append(nbformat.v4.new_code_cell(source))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write(path, cells: list[str]) -> str:
    nbformat.write(notebook(cells), str(path))
    return str(path)


def replaced(cells: list[str], old: str, new: str) -> list[str]:
    assert sum(old == c for c in cells) == 1
    return [new if c == old else c for c in cells]
