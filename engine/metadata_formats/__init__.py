"""Alt text in the bytes of each image format (XMP packets, TIFF/EXIF IFDs, JPEG/PNG/WebP containers),
without re-encoding a pixel. engine.metadata is the public side: it writes safely and verifies."""


class MetadataError(Exception):
    """The file cannot be written safely; str() is a sentence for the user."""
