"""ImageWorks hf provider."""
