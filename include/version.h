#ifndef RPCGATE_VERSION_H
#define RPCGATE_VERSION_H

#ifndef RPCGATE_VERSION
#define RPCGATE_VERSION "0.2"
#endif

#endif
