#include "test_helpers.h"

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace test {

std::string shared_data_folder() {
  const char* env = std::getenv("EFFICIENTAD_SHARED_DATA");
  std::string folder = env && *env ? env : "";
  ck_assert_msg(!folder.empty(),
                "shared test data not configured: run 'meson configure build -Dshared_data=/path/to/shared/data' "
                "(CI passes ../shared/data)");
  ck_assert_msg(fs::is_directory(folder + "/datasets"), "shared test data folder %s has no datasets/ subfolder",
                folder.c_str());
  return folder;
}

}  // namespace test
