// Replays fuzz inputs without libFuzzer: every regular file under the given
// paths (files or directories, not recursive) is passed to
// LLVMFuzzerTestOneInput once. Exits 1 if no input was found, so a missing
// corpus cannot pass silently.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool run_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  if (!in)
    return false;
  std::vector<char> buf{std::istreambuf_iterator<char>{in},
                        std::istreambuf_iterator<char>{}};
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(buf.data()),
                         buf.size());
  return true;
}

} // namespace

int main(int argc, char** argv) {
  size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p{argv[i]};
    if (std::filesystem::is_directory(p)) {
      for (auto& entry : std::filesystem::directory_iterator{p})
        if (entry.is_regular_file() && run_file(entry.path()))
          ++count;
    } else if (run_file(p)) {
      ++count;
    }
  }
  std::printf("replayed %zu inputs\n", count);
  return count > 0 ? 0 : 1;
}
