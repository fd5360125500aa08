// The config keys a command reads, for `latco CMD --help`: each key with its default (the
// settings struct's value, through visit()) and its one-line meaning (the comment on the
// struct's field, collected at build time by src/app/key_help.awk).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "app/command.h"
#include "io/config.h"

namespace latco {

// Runs `read` on an empty recording config: every settings struct it applies lists its keys.
// Keys appear once, in the order first read.
std::vector<HelpLine> config_keys(const std::function<void(const Config&)>& read);

// The meaning of `key` as bound by the struct whose type name (typeid, mangled) is `owner`;
// "" if its field has no comment.
std::string key_meaning(const std::string& owner, const std::string& key);

}  // namespace latco
