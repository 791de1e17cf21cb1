"""Capability: the bits of maas_model_capabilities (MAAS_CAP_* in demos_maas.h, the protocol's set)."""
import enum


class Capability(enum.IntFlag):
    """What a model can do; ``Capability.SAMPLE in model.capabilities`` before ``model.sample``."""

    EVALUATE = 1
    LOG_DENSITY = 2
    SAMPLE = 4
    GRADIENT_X = 8
    GRADIENT_THETA = 16
    EVALUATE_VJP = 32
    EVALUATE_JVP = 64
    DATA = 128
    PARAMETERS = 256
