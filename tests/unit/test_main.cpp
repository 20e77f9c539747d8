// The CAF 0.17 unit-test engine and its main(), compiled once for all suites.
#include "caf/test/unit_test_impl.hpp"
