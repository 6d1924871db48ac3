"""inbox: a Django app that gives a site what Wix Inbox v2 gives a Wix site."""
