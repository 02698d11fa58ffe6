package netfox_test

import "time"

func sleepBriefly() { time.Sleep(5 * time.Millisecond) }
