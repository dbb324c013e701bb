//! Process limits the service raises for itself at start.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// The open-file limit before and after [`raise_fd_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    pub before: u64,
    pub after: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. Every WebSocket client is a file
/// descriptor, and the usual soft limit (1,024) would refuse clients long before memory or
/// CPU run out; no shell `ulimit -n` should be needed to serve 10,000 of them.
pub fn raise_fd_limit() -> std::io::Result<FdLimit> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(std::io::Error::from)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(std::io::Error::from)?;
    }
    let (after, _) = getrlimit(Resource::RLIMIT_NOFILE).map_err(std::io::Error::from)?;
    Ok(FdLimit {
        before: soft,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::raise_fd_limit;

    #[test]
    fn the_soft_fd_limit_reaches_the_hard_limit() {
        let limit = raise_fd_limit().expect("getrlimit/setrlimit on our own process");
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!((limit.after, soft), (hard, hard));
        assert!(limit.before <= limit.after);
    }
}
