// Linux path resolution over the ramfs (path_resolution(7)): absolute paths from the
// process's root, relative ones from its working directory, "." and ".." (".." of the root
// stays there), runs of slashes, symbolic links (at most 40 in one resolution: ELOOP), and a
// trailing slash, which asks for a directory (ENOTDIR otherwise) and follows a last symlink.
//
// Errors: ENOENT (an empty path, a missing component), ENOTDIR (a component that is not a
// directory), ENAMETOOLONG (a component over 255 bytes, a path of 4096 bytes or more), ELOOP.
// No permission checks yet: every process is uid 0.
#pragma once

#include <stddef.h>

#include "ramfs.hpp"

namespace shim {

// Where resolution starts: the process's root (chroot) and working directory.
struct PathContext {
    Ramfs& fs;
    Inode* root;
    Inode* cwd;
};

enum class Follow : bool { no, yes };

// The inode `path` (length bytes, no NUL needed) names; with Follow::no a last symlink
// itself (lstat, readlink, unlink), else what it points to.
[[nodiscard]] int resolve(const PathContext& context, const char* path, size_t length, Follow follow, Inode*& out);

// What create, mkdir, unlink and rename need: the directory and the last name in it.
struct ParentResult {
    enum class Last : unsigned char { normal, dot, dotdot, root };
    Inode* dir;
    const char* name; // inside the path; for Last::root, empty
    size_t name_length;
    Last last;
    bool trailing_slash; // the path ended in '/': the last must be (or become) a directory
};

// Resolves every component but the last, which is not looked up (it may not exist).
[[nodiscard]] int resolve_parent(const PathContext& context, const char* path, size_t length, ParentResult& out);

} // namespace shim
