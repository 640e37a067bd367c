/* The memory floor of any process that probes with Debian's libcurl: load it (and the
 * libraries it pulls in), initialise it, and report the peak RSS. bench/exporter_probes.py
 * builds and runs it next to the exporters; see bench/README.md. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) return 1;
  char line[256];
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmHWM:", 6) == 0) fputs(line, stdout);
  }
  fclose(f);
  curl_global_cleanup();
  return 0;
}
