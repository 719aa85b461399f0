"""Chaos drills for StreamHouse: fault-injecting proxies and drills that kill, cut off and
starve agents, then check that every acknowledged record is there exactly once."""
