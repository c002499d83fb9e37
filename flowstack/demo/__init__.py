"""Templates of `flowstack demo`."""
