"""nexus-chat: the anonymous web chat and callback service of Nexus, Uppsala municipality."""

__version__ = "0.1.0"
