#!/bin/sh
# Debian's prometheus with the upstream binary's default data path (data/, under /prometheus).
case " $* " in
    *" --storage.tsdb.path"*) exec /usr/bin/prometheus "$@" ;;
    *) exec /usr/bin/prometheus --storage.tsdb.path=data/ "$@" ;;
esac
