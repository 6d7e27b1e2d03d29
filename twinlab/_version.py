"""The twinlab version (one place; read by the build and by ``twinlab --version``)."""

__version__ = "0.1.0"
