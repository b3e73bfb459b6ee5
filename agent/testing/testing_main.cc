// main() for test binaries that check every test for leaked tasks: link
// leakwatch::testing_main instead of GTest::gtest_main (see leakwatch/testing.h).

#include "gtest/gtest.h"
#include "leakwatch/testing.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  leakwatch::testing::InstallLeakCheckListener();
  return RUN_ALL_TESTS();
}
