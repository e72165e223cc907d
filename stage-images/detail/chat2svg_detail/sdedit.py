"""SDEdit of the template render with SDXL image-to-image, optionally steered by a tile ControlNet on
the blurred template (Chat2SVG's setup)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageFilter

from chat2svg_detail.models import MemoryPlan, ModelSet

# Chat2SVG's prompt wrapper: flat, outline-free illustrations vectorize into clean shapes.
PROMPT = (
    "children's coloring book image of {subject}, lineal color, simple drawing, plain, minimalistic, "
    "best quality, flat 2d illustration, cartoon style"
)
NEGATIVE_PROMPT = (
    "black outline, black stroke, NSFW, logo, text, blurry, low quality, sketches, lowres, "
    "normal quality, monochrome, grayscale, worst quality, signature, watermark, cropped, "
    "bad proportions, out of focus, deformed, mutated, ugly, disfigured"
)
# Tile ControlNet settings from Chat2SVG: the blurred template keeps the layout, at half weight.
BLUR_RADIUS = 7
CONTROLNET_SCALE = 0.5


def build_prompt(prompt: str, style: str) -> str:
    text = PROMPT.format(subject=prompt.strip())
    return f"{text}, {style.strip()}" if style.strip() else text


@dataclass
class Enhancer:
    pipe: object
    controlnet: bool
    size: int

    @classmethod
    def load(cls, models: ModelSet, device: str, dtype: torch.dtype, memory: MemoryPlan) -> Enhancer:
        from diffusers import (
            ControlNetModel,
            EulerAncestralDiscreteScheduler,
            StableDiffusionXLControlNetImg2ImgPipeline,
            StableDiffusionXLImg2ImgPipeline,
        )

        # fp16 weight files load into fp32 on a CPU too: one download serves both.
        variant = models.variant("sdxl")
        common = {"torch_dtype": dtype, "use_safetensors": True, "variant": variant, "add_watermarker": False}
        if models.has("controlnet"):
            controlnet = ControlNetModel.from_pretrained(
                models.path("controlnet"),
                torch_dtype=dtype,
                use_safetensors=True,
                variant=models.variant("controlnet"),
            )
            pipe = StableDiffusionXLControlNetImg2ImgPipeline.from_pretrained(
                models.path("sdxl"), controlnet=controlnet, **common
            )
        else:
            pipe = StableDiffusionXLImg2ImgPipeline.from_pretrained(models.path("sdxl"), **common)
        # Chat2SVG samples with Euler ancestral; seeded, it is as reproducible as any other.
        pipe.scheduler = EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config)
        pipe.set_progress_bar_config(disable=True)
        if memory.offload:
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)
        if memory.attention_slicing:
            pipe.enable_attention_slicing()
        if memory.vae_tiling:
            pipe.vae.enable_tiling()
        # The UNet's native resolution (1024 px for SDXL): SDEdit away from it degrades the image.
        size = int(pipe.unet.config.sample_size) * int(pipe.vae_scale_factor)
        return cls(pipe, models.has("controlnet"), size)

    def __call__(
        self,
        template: np.ndarray,
        prompt: str,
        *,
        steps: int,
        strength: float,
        guidance: float,
        seed: int,
        device: str,
    ) -> np.ndarray:
        image = Image.fromarray(template)
        if image.size != (self.size, self.size):
            image = image.resize((self.size, self.size), Image.Resampling.LANCZOS)
        generator = torch.Generator(device="cpu").manual_seed(seed)
        kwargs: dict[str, object] = {}
        if self.controlnet:
            kwargs["control_image"] = image.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
            kwargs["controlnet_conditioning_scale"] = CONTROLNET_SCALE
        with torch.inference_mode():
            out = self.pipe(  # type: ignore[operator]
                prompt=prompt,
                negative_prompt=NEGATIVE_PROMPT,
                image=image,
                strength=strength,
                num_inference_steps=steps,
                guidance_scale=guidance,
                generator=generator,
                output_type="np",
                **kwargs,
            )
        return (np.clip(out.images[0], 0.0, 1.0) * 255).round().astype(np.uint8)
