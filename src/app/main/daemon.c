/* daemon.c -- RunAsDaemon (fork/setsid, stdio to /dev/null) and PidFile
 * (tor-manual "RunAsDaemon", "PidFile"; no torspec section). */
#define LOG_MODULE "daemon"
#include "allium/app/main/daemon.h"
#include "allium/app/main/exitcodes.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_fd = -1;   /* child's end of the start-up status pipe */

int
daemon_start(void)
{
  int fds[2];
  if (pipe(fds) < 0) {
    log_err("RunAsDaemon: pipe() failed: %s", strerror(errno));
    return -1;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    log_err("RunAsDaemon: fork() failed: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid > 0) {
    /* Parent: wait for the child's verdict. */
    close(fds[1]);
    unsigned char st = ALLIUM_EXIT_RUNTIME;
    ssize_t r;
    do {
      r = read(fds[0], &st, 1);
    } while (r < 0 && errno == EINTR);
    if (r != 1)
      st = ALLIUM_EXIT_RUNTIME;   /* child died before reporting */
    _exit(st);
  }
  close(fds[0]);
  status_fd = fds[1];
  if (setsid() < 0)
    log_warn("RunAsDaemon: setsid() failed: %s", strerror(errno));
  return 0;
}

void
daemon_finish(int exit_status)
{
  if (status_fd < 0)
    return;
  if (exit_status == 0) {
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
      dup2(nul, STDIN_FILENO);
      dup2(nul, STDOUT_FILENO);
      dup2(nul, STDERR_FILENO);
      if (nul > STDERR_FILENO)
        close(nul);
    }
  }
  unsigned char st = (unsigned char)exit_status;
  ssize_t w;
  do {
    w = write(status_fd, &st, 1);
  } while (w < 0 && errno == EINTR);
  close(status_fd);
  status_fd = -1;
}

int
pidfile_write(const char *path, char **errmsg)
{
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
  int r = fs_write_file_atomic(path, buf, (size_t)n, 0644);
  if (r < 0) {
    if (errmsg)
      *errmsg = al_asprintf("Couldn't write PidFile \"%s\": %s", path,
                            r == FS_ERR_IO ? strerror(errno) : fs_strerror(r));
    return -1;
  }
  return 0;
}

void
pidfile_remove(const char *path)
{
  if (!path)
    return;
  char *text = NULL;
  if (fs_read_file(path, &text, NULL, 64) < 0)
    return;
  long pid = strtol(text, NULL, 10);
  al_free(text);
  if (pid == (long)getpid() && unlink(path) < 0)
    log_warn("Couldn't remove PidFile \"%s\": %s", path, strerror(errno));
}
