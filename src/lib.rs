//! The root package of the Companion workspace. It has no code of its own: its `tests/`
//! folder holds the tests that run sfsim, the gateway and core together on loopback.
