//go:build race

package mde_test

// raceEnabled: the race detector slows decoding some tenfold, so the
// listing test scales its tenant down (same number of pages).
const raceEnabled = true
