"""Errors a user can fix. The CLI prints them as one sentence, never a traceback."""


class ArtistryError(Exception):
    """Base class: the message names the flag or file at fault."""


class ConfigError(ArtistryError):
    """A flag or config value is invalid."""


class DataError(ArtistryError):
    """The dataset folder or an image in it cannot be used."""


class CheckpointError(ArtistryError):
    """A run directory or checkpoint cannot be read."""


class StorageError(ArtistryError):
    """A file could not be written (full disk, I/O error); the message says what is kept and how to go on."""


class NonFiniteError(CheckpointError):
    """The weights hold NaN or infinity, so no checkpoint is written from them."""


class DistributedError(ArtistryError):
    """Another process of a many-process run died or stopped answering."""
