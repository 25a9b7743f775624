"""Inverse kinematics: the batched serial-arm model and the FABRIK and DLS baselines."""
