"""Optimize stage: fits SVG shapes to a target image with a differentiable PyTorch rasterizer."""
