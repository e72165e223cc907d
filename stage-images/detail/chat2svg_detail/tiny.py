"""Tiny random-weight SDXL, tile ControlNet and SAM built from configs, saved in the MODEL_DIR layout,
so the stage runs end to end on a CPU without any download."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from chat2svg_detail.models import CONTROLNET_DIR, MANIFEST, SAM_DIR, SDXL_DIR

# CLIP's byte-level alphabet: printable bytes map to themselves, the rest to code points above 255.
_PRINTABLE = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]


def _byte_alphabet() -> list[str]:
    chars, extra = [], 0
    for b in range(256):
        if b in _PRINTABLE:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def tiny_tokenizer():
    """A CLIP BPE tokenizer over single bytes plus a few merges: every string encodes, nothing downloads."""
    from transformers import CLIPTokenizer

    alphabet = _byte_alphabet()
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in alphabet:
        vocab[ch] = len(vocab)
    for ch in alphabet:
        vocab[ch + "</w>"] = len(vocab)
    merges = []
    for a, b in [("t", "h"), ("th", "e</w>"), ("a", "n"), ("i", "n"), ("e", "r</w>")]:
        merges.append((a, b))
        vocab.setdefault(a + b, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def _text_encoders(vocab_size: int, eos_token_id: int):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=3,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=32,
        hidden_act="gelu",
        bos_token_id=0,
        eos_token_id=eos_token_id,
        pad_token_id=eos_token_id,
    )
    return CLIPTextModel(config), CLIPTextModelWithProjection(config)


def build_sdxl(out: Path, *, with_controlnet: bool = True) -> None:
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        EulerAncestralDiscreteScheduler,
        StableDiffusionXLImg2ImgPipeline,
        UNet2DConditionModel,
    )

    unet = UNet2DConditionModel(
        sample_size=32,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        transformer_layers_per_block=(1, 1),
        # SDXL conditions on both encoders' hidden states (32 + 32) and on pooled text (32) plus six
        # size/crop ids embedded to 8 each.
        cross_attention_dim=64,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=32 + 6 * 8,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(16, 32),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )
    tokenizer = tiny_tokenizer()
    text_encoder, text_encoder_2 = _text_encoders(len(tokenizer), tokenizer.eos_token_id)
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=scheduler,
        add_watermarker=False,
    )
    pipe.save_pretrained(out / SDXL_DIR)
    if with_controlnet:
        # Its conditioning encoder must downsample like the VAE (2x here, 8x in SDXL).
        controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(16, 32))
        controlnet.save_pretrained(out / CONTROLNET_DIR)


def build_sam(out: Path) -> None:
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor

    # SAM's 1024 px input shrunk to 256 px with the 16 px patches kept: a 16x16 embedding grid.
    image_size, hidden = 256, 32
    config = SamConfig(
        vision_config={
            "hidden_size": hidden,
            "output_channels": hidden,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 16,
            "window_size": 4,
            "global_attn_indexes": [1],
            "num_pos_feats": hidden // 2,
            "mlp_dim": 64,
        },
        prompt_encoder_config={"hidden_size": hidden, "image_size": image_size, "patch_size": 16},
        mask_decoder_config={
            "hidden_size": hidden,
            "mlp_dim": 64,
            "num_attention_heads": 2,
            "iou_head_hidden_dim": hidden,
        },
    )
    model = SamModel(config)
    model.save_pretrained(out / SAM_DIR)
    processor = SamProcessor(
        image_processor=SamImageProcessor(
            size={"longest_edge": image_size}, pad_size={"height": image_size, "width": image_size}
        )
    )
    processor.save_pretrained(out / SAM_DIR)


def build(out: Path, *, seed: int = 0, with_controlnet: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    build_sdxl(out, with_controlnet=with_controlnet)
    build_sam(out)
    components = {
        "sdxl": {"repo": "tiny-random", "revision": "none", "dir": SDXL_DIR},
        "sam": {"repo": "tiny-random", "revision": "none", "dir": SAM_DIR},
    }
    if with_controlnet:
        components["controlnet"] = {"repo": "tiny-random", "revision": "none", "dir": CONTROLNET_DIR}
    (out / MANIFEST).write_text(json.dumps({"tiny": True, "components": components}, indent=2) + "\n")
