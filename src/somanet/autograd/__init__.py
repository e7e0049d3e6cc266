"""Layer 1: reverse-mode automatic differentiation.

``Function`` is the op contract; ``engine`` walks the graph backwards;
``mode`` holds the switches (``no_grad``, ``detect_anomaly``); ``gradcheck``
proves gradients against finite differences; ``growth`` warns once
(``GraphGrowthWarning``) when graphs of earlier training steps pile up in memory.
"""
from .anomaly import detect_anomaly
from .engine import GradReadyHandle, grad, register_grad_ready_hook, zero_grads
from .function import Function
from .gradcheck import GradcheckError, gradcheck
from .growth import GraphGrowthWarning
from .mode import enable_grad, is_grad_enabled, no_grad, recordable, set_grad_enabled
