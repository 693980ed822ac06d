//go:build race

package elle

// raceDetector is true when the tests run under the race detector, which
// slows the checker about twentyfold.
const raceDetector = true
