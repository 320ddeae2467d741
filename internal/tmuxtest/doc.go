// Package tmuxtest drives a terminal program inside tmux for end-to-end
// tests: it starts the program in a detached session of a private tmux
// server (its own socket, so parallel tests never share state), types
// literal text and named keys, captures the visible screen, resizes the
// window and reads pane properties such as the title or the process id.
//
// Each Session runs with status line off (the pane is the whole window) and
// remain-on-exit on (a program that crashed leaves its last screen and exit
// status behind). The server is killed in the test's cleanup, and when the
// test failed the last screen is logged.
//
// Require skips a test when tmux is not installed, or fails it when the CI
// environment variable is true.
package tmuxtest
