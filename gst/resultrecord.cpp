#include "resultrecord.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace efficientad::gst {

namespace {

std::string number (double v)
{
  if (!std::isfinite (v))
    return "null";
  char text[32];
  std::snprintf (text, sizeof text, "%.7g", v);
  return text;
}

/* Length of the valid UTF-8 sequence at s[i], 0 when it is not one. */
size_t utf8_length (const std::string & s, size_t i)
{
  const unsigned char c = (unsigned char) s[i];
  const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size ())
    return 0;
  for (size_t k = 1; k < n; ++k) {
    if (((unsigned char) s[i + k] >> 6) != 2)
      return 0;
  }
  return n;
}

}  // namespace

std::string
json_string (const std::string & text)
{
  std::string out = "\"";
  for (size_t i = 0; i < text.size ();) {
    const unsigned char c = (unsigned char) text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char (c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf (escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      const size_t n = utf8_length (text, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  /* U+FFFD for a byte that is not UTF-8 */
        ++i;
        continue;
      }
      out.append (text, i, n);
      i += n;
      continue;
    }
    ++i;
  }
  return out + "\"";
}

std::string
base64 (const std::string & bytes)
{
  static const char *table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size (); i += 3) {
    const uint32_t a = (unsigned char) bytes[i];
    const uint32_t b = i + 1 < bytes.size () ? (unsigned char) bytes[i + 1] : 0;
    const uint32_t c = i + 2 < bytes.size () ? (unsigned char) bytes[i + 2] : 0;
    const uint32_t n = a << 16 | b << 8 | c;
    out += table[n >> 18 & 63];
    out += table[n >> 12 & 63];
    out += i + 1 < bytes.size () ? table[n >> 6 & 63] : '=';
    out += i + 2 < bytes.size () ? table[n & 63] : '=';
  }
  return out;
}

std::string
iso8601_utc (int64_t unix_ms)
{
  const std::time_t seconds = std::time_t (unix_ms / 1000);
  std::tm tm {};
  gmtime_r (&seconds, &tm);
  char text[40];
  const size_t n = std::strftime (text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf (text + n, sizeof text - n, ".%03dZ", int (unix_ms % 1000));
  return text;
}

std::string
to_json (const ResultRecord & r)
{
  std::string j = "{\"source\":" + json_string (r.source) + ",\"event\":" + json_string (r.event) +
      ",\"stream_time_ns\":" + (r.stream_time_ns == UINT64_MAX ? "null" : std::to_string (r.stream_time_ns)) +
      ",\"wall_time\":" + json_string (iso8601_utc (r.wall_time_ms)) + ",\"frame\":" + std::to_string (r.frame) +
      ",\"score\":" + number (r.score) + ",\"threshold\":" + number (r.threshold) + ",\"anomalous\":" +
      (r.anomalous ? "true" : "false") + ",\"alarm\":" + (r.alarm ? "true" : "false") + ",\"model_id\":" +
      json_string (r.model_id) + ",\"regions\":[";
  for (size_t i = 0; i < r.regions.size (); ++i) {
    const RegionRecord &g = r.regions[i];
    j += std::string (i ? "," : "") + "{\"x\":" + std::to_string (g.x) + ",\"y\":" + std::to_string (g.y) +
        ",\"width\":" + std::to_string (g.width) + ",\"height\":" + std::to_string (g.height) + ",\"area\":" +
        std::to_string (g.area) + ",\"peak\":" + number (g.peak) + ",\"mean\":" + number (g.mean) + "}";
  }
  j += "]";
  if (!r.crop_png.empty ())
    j += ",\"crop_png_base64\":\"" + base64 (r.crop_png) + "\"";
  return j + "}";
}

}  // namespace efficientad::gst
