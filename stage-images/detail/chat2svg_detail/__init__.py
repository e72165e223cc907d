"""The detail stage (docs/architecture.md §1, §6): SDXL SDEdit of the template render, SAM masks of the
new parts, vectorized into the SVG as cubic paths."""
