# Builds the table of config keys and their one-line meanings that `latco CMD --help`
# prints (src/app/key_help.cpp), from the sources of the settings structs: the comment on
# each field's line (and its continuation lines) is the meaning of the key that visit()
# binds to that field. `v((prefix + "_samples").c_str(), samples)` gives the key "*_samples".
# Output: one C++ initialiser per key and struct, {"Struct", "key", "meaning"},
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function cstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
FNR == 1 { prev = ""; prev_col = -1; owner = ""; delete seen }
{
  line = $0
  if (match(line, /^[ \t]*struct [A-Za-z0-9_]+ *\{/)) {
    owner = line
    sub(/^[ \t]*struct /, "", owner); sub(/ *\{.*$/, "", owner)
  }
  col = index(line, "//")
  # A continuation: a comment alone on its line, in the column of the previous field's comment.
  if (prev != "" && col > 0 && col == prev_col && trim(substr(line, 1, col - 1)) == "") {
    text = trim(substr(line, col + 2))
    if (text != "") comment[prev] = comment[prev] " " text
    next
  }
  prev = ""; prev_col = -1
  # A field: `type name = default;  // meaning` or `type name;  // meaning`.
  if (col > 0 && line ~ /^[ \t]*[A-Za-z_][A-Za-z0-9_:<>, ]*[ \t&*]+[A-Za-z_][A-Za-z0-9_]*[ \t]*(=[^;]*)?;[ \t]*\/\//) {
    decl = substr(line, 1, index(line, ";") - 1)
    sub(/[ \t]*=.*$/, "", decl)
    decl = trim(decl)
    n = split(decl, parts, /[ \t&*]+/)
    name = parts[n]
    raw = substr(line, col + 2)
    text = trim(raw)
    # `//   more` right after a field: the previous field's comment goes on.
    if (raw ~ /^   / && last_field != "") {
      comment[last_field] = comment[last_field] " " text
      comment[name] = comment[last_field]
    } else {
      comment[name] = text
    }
    prev = name; prev_col = col; last_field = name
    next
  }
  last_field = ""
  if (line ~ /^[ \t]*\/\//) next
  # visit() bindings: v("key", field ...) or v((prefix + "_suffix").c_str(), field ...).
  rest = line
  while ((p = index(rest, "v(")) > 0) {
    before = substr(rest, p - 1, 1)
    rest = substr(rest, p + 2)
    if (p > 1 && before ~ /[A-Za-z0-9_]/) continue
    key = ""
    if (substr(rest, 1, 1) == "\"") {
      q = index(substr(rest, 2), "\"")
      key = substr(rest, 2, q - 1)
      after = substr(rest, q + 2)
    } else if (substr(rest, 1, 1) == "(" && match(rest, /\+ *"[A-Za-z0-9_]+"\)/)) {
      suffix = substr(rest, RSTART, RLENGTH)
      sub(/^\+ *"/, "", suffix); sub(/"\)$/, "", suffix)
      key = "*" suffix
      after = substr(rest, RSTART + RLENGTH)
      sub(/^\.c_str\(\)/, "", after)
    }
    if (key == "" || substr(after, 1, 1) != ",") continue
    field = substr(after, 2)
    sub(/[,)].*$/, "", field)
    field = trim(field)
    sub(/^.*(\.|->)/, "", field)
    if (!((owner, key) in seen) && (field in comment)) {
      seen[owner, key] = 1
      print "{" cstr(owner) ", " cstr(key) ", " cstr(comment[field]) "},"
    }
  }
}
