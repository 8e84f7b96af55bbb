"""ImageWorks local_scan provider."""
