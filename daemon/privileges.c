#define _GNU_SOURCE /* setresuid, setresgid */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privileges.h"

bool privileges_lookup(const char *user, struct privileges *p, char *err,
		       size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user \"%s\": %s", user,
			 errno ? strerror(errno) : "no such user");
		return false;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user \"%s\" is root", user);
		return false;
	}
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	return true;
}

bool privileges_set_group(const struct privileges *p, char *err, size_t errlen)
{
	if (setgroups(0, NULL) < 0 || setresgid(p->gid, p->gid, p->gid) < 0) {
		snprintf(err, errlen, "switching to group %u: %s",
			 (unsigned)p->gid, strerror(errno));
		return false;
	}
	return true;
}

bool privileges_set_user(const struct privileges *p, char *err, size_t errlen)
{
	struct __user_cap_header_struct head = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3] = {
		[CAP_TO_INDEX(CAP_NET_ADMIN)] = {
			.effective = CAP_TO_MASK(CAP_NET_ADMIN),
			.permitted = CAP_TO_MASK(CAP_NET_ADMIN),
		},
	};

	/* keep the permitted set across setuid, then narrow it */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    setresuid(p->uid, p->uid, p->uid) < 0) {
		snprintf(err, errlen, "switching to user %u: %s",
			 (unsigned)p->uid, strerror(errno));
		return false;
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    syscall(SYS_capset, &head, caps) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		snprintf(err, errlen, "keeping only CAP_NET_ADMIN: %s",
			 strerror(errno));
		return false;
	}
	/* setuid(0) must be impossible from here */
	if (setuid(0) == 0) {
		snprintf(err, errlen, "still able to become root");
		return false;
	}
	return true;
}
