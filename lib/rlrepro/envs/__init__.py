"""Environments; importing this package registers them with gymnasium under ``rlrepro/``."""
import gymnasium as gym

GRIDWORLD_IDS = {
    "room": "rlrepro/Room-v0",
    "room_bad": "rlrepro/RoomBad-v0",
    "train": "rlrepro/Train-v0",
    "apples": "rlrepro/Apples-v0",
    "batteries": "rlrepro/Batteries-v0",
    "batteries_easy": "rlrepro/BatteriesEasy-v0",
}

for _problem, _id in GRIDWORLD_IDS.items():
    if _id not in gym.registry:
        gym.register(_id, entry_point="rlrepro.envs.gridworld_env:GridworldEnv",
                     kwargs={"problem": _problem})
