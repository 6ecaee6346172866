"""World-model updates per second: the RSSM at PlaNet's size (sequences of 50 steps, batches of
50, 64x64 pictures, stoch 30, deter 200, depth 32), one Adam step of the loss with the gradient
clipped as the latent experiment trains it (``rlrepro.latent.world_model.train_model``), for the
reconstruction and the contrastive loss, on random pictures already on the device (the replay's
cost is not measured).

    python benchmarks/world_model_speed.py [--device cuda] [--seconds 20] [--threads 16]

Prints a markdown table naming the device (the card, or the CPU and its threads).
"""
import argparse
import platform
import time

import torch

from rlrepro.models.rssm import RSSM, RSSMConfig

BATCH, LENGTH, ACTION_DIM = 50, 50, 6  # PlaNet's batches; HalfCheetah's actions


def updates_per_second(representation: str, device: str, seconds: float) -> float:
    torch.manual_seed(0)
    model = RSSM(RSSMConfig(action_dim=ACTION_DIM, representation=representation)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-4)
    pictures = torch.randint(0, 256, (LENGTH, BATCH, 3, 64, 64), device=device).float()
    actions = torch.rand(LENGTH, BATCH, ACTION_DIM, device=device) * 2 - 1
    rewards = torch.rand(LENGTH, BATCH, device=device)

    def update():
        loss, _ = model.loss(pictures, actions, rewards)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1000.0)
        optimizer.step()

    update()  # the first call allocates and picks kernels
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds or n == 0:
        update()
        n += 1
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured per loss")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    where = (torch.cuda.get_device_name(args.device) if args.device.startswith("cuda")
             else f"{platform.processor() or 'CPU'}, {args.threads} threads")
    print(f"## RSSM updates/s at PlaNet's size on {where} (torch {torch.__version__})\n")
    print("| loss | updates/s |\n|---|---|")
    for representation in ("reconstruction", "contrastive"):
        rate = updates_per_second(representation, args.device, args.seconds)
        print(f"| {representation} | {rate:.2f} |", flush=True)


if __name__ == "__main__":
    main()
