// Package storetest builds large message histories quickly for tests and
// benchmarks of the store and of the packages that read from it (the UI).
//
// Fill writes messages straight into the store's tables in one transaction,
// bypassing the deduplication work of AddMessages. Fixture keeps a
// prebuilt database with a given number of messages under os.TempDir(),
// keyed by schema version and validated before every use, so expensive
// fixtures are built once per machine rather than once per run.
package storetest
