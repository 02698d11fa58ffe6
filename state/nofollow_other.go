//go:build !unix

package state

// noFollow is zero where open has no O_NOFOLLOW.
const noFollow = 0
