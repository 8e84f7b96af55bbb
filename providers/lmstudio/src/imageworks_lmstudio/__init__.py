"""ImageWorks lmstudio provider."""
