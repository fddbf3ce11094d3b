// Check's header defines a `fail` macro, which collides with std::ios::fail() in any C++ header included after it.
#pragma once

#include <check.h>
#undef fail
