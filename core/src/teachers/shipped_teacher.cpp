#include <cstdlib>
#include <filesystem>

#include "config.h"
#include "efficientad/errors.h"
#include "efficientad/teacher.h"

namespace efficientad {

std::string shipped_teacher_path(Variant variant) {
  const std::string name = variant == Variant::Small ? "teacher_s.efad" : "teacher_m.efad";
  const char* override_dir = std::getenv("EFFICIENTAD_TEACHER_DIR");
  for (const char* dir : {override_dir, EFFICIENTAD_SOURCE_MODELS_DIR, EFFICIENTAD_INSTALLED_MODELS_DIR}) {
    if (!dir || !*dir) continue;
    const std::filesystem::path path = std::filesystem::path(dir) / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path.string();
    if (dir == override_dir) return "";  // an explicit folder without the file: no silent fallback
  }
  return "";
}

std::string teacher_path_for(const std::string& teacher, Variant variant) {
  if (teacher == "random") return "";
  if (teacher == "auto") return shipped_teacher_path(variant);
  if (teacher != "shipped") return teacher;
  const std::string path = shipped_teacher_path(variant);
  if (path.empty()) {
    throw InvalidArgument(std::string("no shipped teacher for EfficientAD-") + variant_name(variant) +
                          " (only S ships, as models/teacher_s.efad; $EFFICIENTAD_TEACHER_DIR overrides the folder)");
  }
  return path;
}

}  // namespace efficientad
