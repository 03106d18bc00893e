"""Call handling: one session per emergency call, between ARI and the policy."""
