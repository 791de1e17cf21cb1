C     RINGLP: log-density (up to a constant) of a ring of radius R0 and
C     width W in the plane.  Written in the style of a legacy FORTRAN 77
C     library routine: it is served as is, through the bind(C) adaptor
C     in ring_model.f90, without changing a line.
      DOUBLE PRECISION FUNCTION RINGLP(X, R0, W)
      DOUBLE PRECISION X(2), R0, W, R
      R = DSQRT(X(1)**2 + X(2)**2)
      RINGLP = -0.5D0*((R - R0)/W)**2 - DLOG(W)
      RETURN
      END
