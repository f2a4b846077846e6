package sshapp

// SetTestHook makes f run at the points where sessions must survive a
// panic ("update" with each message, "pump" with each chunk of input), and
// returns a function that undoes it. Set it before the server starts.
func SetTestHook(f func(where string, v any)) (restore func()) {
	old := testHook
	testHook = f
	return func() { testHook = old }
}
