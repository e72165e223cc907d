"""The detail stage (ARCHITECTURE.md §1, §5): SDXL SDEdit of the template render, SAM masks of the
new parts, vectorized into the SVG as cubic paths."""
