/* The JSON-lines log of anomalypublish: one record per line, appended with a single write so that readers never
 * see half a line; rotated by size (FILE -> FILE.1 -> ... -> FILE.KEEP); a line torn by a crash or power loss
 * is cut off when the file is opened again, so that the log never holds a broken line. */
#pragma once

#include <cstdint>
#include <string>

namespace efficientad::gst {

class JsonLinesFile {
 public:
  /* Opens (or creates) `path` for appending. Throws IoError naming the file. */
  JsonLinesFile (std::string path, uint64_t max_bytes, unsigned keep);
  ~JsonLinesFile ();
  JsonLinesFile (const JsonLinesFile &) = delete;
  JsonLinesFile & operator= (const JsonLinesFile &) = delete;

  /* Appends `line` and a newline, rotating first when the file would grow past max_bytes. Throws IoError. */
  void append (const std::string & line);
  /* Bytes cut off when the file was opened (a torn last line), 0 normally. */
  uint64_t repaired_bytes () const { return repaired_; }

 private:
  void open ();
  void rotate ();

  std::string path_;
  uint64_t max_bytes_;
  unsigned keep_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t repaired_ = 0;
};

}  // namespace efficientad::gst
