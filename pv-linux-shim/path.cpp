// Linux path resolution over the ramfs, without recursion: a symlink's target is pushed as a
// new piece of text to walk before the rest of the path that led to it.
#include "path.hpp"

#include "linux_abi.hpp"

namespace shim {

using namespace linux_abi;

namespace {

// Text still to walk: the path, or a symlink's target.
struct Piece {
    const char* text;
    size_t length;

    void skip_slashes()
    {
        while (length > 0 && *text == '/') {
            ++text;
            --length;
        }
    }
    bool only_slashes() const
    {
        for (size_t i = 0; i < length; ++i)
            if (text[i] != '/')
                return false;
        return true;
    }
};

bool is_dot(const char* name, size_t length) { return length == 1 && name[0] == '.'; }
bool is_dotdot(const char* name, size_t length) { return length == 2 && name[0] == '.' && name[1] == '.'; }

class Walk {
public:
    Walk(const PathContext& context, const char* path, size_t length) : context_(context)
    {
        pieces_[0] = {path, length};
        at_ = length > 0 && path[0] == '/' ? context.root : context.cwd;
    }

    // Finds the next component; false when the path is used up (at() is then the answer).
    bool next()
    {
        pieces_[depth_ - 1].skip_slashes();
        while (pieces_[depth_ - 1].length == 0) {
            if (depth_ == 1)
                return false;
            --depth_;
            pieces_[depth_ - 1].skip_slashes();
        }
        Piece& top = pieces_[depth_ - 1];
        name_ = top.text;
        while (top.length > 0 && *top.text != '/') {
            ++top.text;
            --top.length;
        }
        name_length_ = static_cast<size_t>(top.text - name_);
        last_ = true;
        trailing_slash_ = false;
        for (size_t i = 0; i < depth_; ++i) {
            if (!pieces_[i].only_slashes())
                last_ = false;
            if (pieces_[i].length > 0)
                trailing_slash_ = true;
        }
        trailing_slash_ = trailing_slash_ && last_;
        return true;
    }

    // Steps from at() through the current component; a symlink is followed if `follow`.
    int step(bool follow)
    {
        if (name_length_ > kNameMax)
            return -kENAMETOOLONG;
        if (!at_->is_directory())
            return -kENOTDIR;
        if (is_dot(name_, name_length_))
            return 0;
        if (is_dotdot(name_, name_length_)) {
            if (at_ != context_.root) // a chroot's root is the top
                at_ = at_->parent;
            return 0;
        }
        Inode* next = nullptr;
        if (int error = context_.fs.lookup(at_, name_, name_length_, next))
            return error;
        if (!next->is_symlink() || !follow) {
            at_ = next;
            return 0;
        }
        if (links_ == kMaxSymlinks)
            return -kELOOP;
        ++links_;
        const auto* target = reinterpret_cast<const char*>(next->data);
        pieces_[depth_++] = {target, static_cast<size_t>(next->size)};
        if (target[0] == '/')
            at_ = context_.root;
        return 0;
    }

    Inode* at() const { return at_; }
    const char* name() const { return name_; }
    size_t name_length() const { return name_length_; }
    bool last() const { return last_; }
    bool trailing_slash() const { return trailing_slash_; }

private:
    const PathContext& context_;
    // The path and at most kMaxSymlinks targets: each link followed adds one.
    Piece pieces_[kMaxSymlinks + 1];
    size_t depth_ = 1;
    uint32_t links_ = 0;
    Inode* at_;
    const char* name_ = nullptr;
    size_t name_length_ = 0;
    bool last_ = false, trailing_slash_ = false;
};

int check_path(size_t length)
{
    if (length == 0)
        return -kENOENT;
    if (length >= kPathMax)
        return -kENAMETOOLONG;
    return 0;
}

} // namespace

int resolve(const PathContext& context, const char* path, size_t length, Follow follow, Inode*& out)
{
    if (int error = check_path(length))
        return error;
    Walk walk(context, path, length);
    bool need_directory = false;
    while (walk.next()) {
        // A trailing slash follows a last symlink even for lstat (path_resolution(7)).
        need_directory = need_directory || walk.trailing_slash();
        const bool follow_here = !walk.last() || follow == Follow::yes || walk.trailing_slash();
        if (int error = walk.step(follow_here))
            return error;
    }
    if (need_directory && !walk.at()->is_directory())
        return -kENOTDIR;
    out = walk.at();
    return 0;
}

int resolve_parent(const PathContext& context, const char* path, size_t length, ParentResult& out)
{
    if (int error = check_path(length))
        return error;
    Walk walk(context, path, length);
    while (walk.next()) {
        if (walk.last()) {
            if (walk.name_length() > kNameMax)
                return -kENAMETOOLONG;
            if (!walk.at()->is_directory())
                return -kENOTDIR;
            out.dir = walk.at();
            out.name = walk.name();
            out.name_length = walk.name_length();
            out.last = is_dot(walk.name(), walk.name_length())      ? ParentResult::Last::dot
                       : is_dotdot(walk.name(), walk.name_length()) ? ParentResult::Last::dotdot
                                                                    : ParentResult::Last::normal;
            out.trailing_slash = walk.trailing_slash();
            return 0;
        }
        if (int error = walk.step(true))
            return error;
    }
    // Only slashes: the root itself.
    out.dir = walk.at();
    out.name = path + length;
    out.name_length = 0;
    out.last = ParentResult::Last::root;
    out.trailing_slash = false;
    return 0;
}

} // namespace shim
