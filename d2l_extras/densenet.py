"""The lesson's DenseNet code: conv_block, DenseBlock, transition_block and the model builder densenet.

Every block below starts with ``#@save`` and is a byte-for-byte twin of a cell of notebooks 01-03
(``tests/test_twins.py`` fails when they drift). It is the deck's code in MXNet's NumPy interface (call
``npx.set_np()`` first), with no argument checks, as the deck had none: ``d2l_extras.model_zoo`` and the
explorers check their arguments (``d2l_extras.sizes``) before they call it.
"""
from mxnet.gluon import nn


#@save
def conv_block(num_channels):
    blk = nn.HybridSequential()
    blk.add(nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(num_channels, kernel_size=3, padding=1))
    return blk


#@save
class DenseBlock(nn.HybridBlock):
    def __init__(self, num_convs, num_channels, **kwargs):
        super().__init__(**kwargs)
        self.net = nn.HybridSequential()
        for _ in range(num_convs):
            self.net.add(conv_block(num_channels))

    def hybrid_forward(self, F, X):
        for blk in self.net:
            Y = blk(X)
            X = F.np.concatenate((X, Y), axis=1)  # input and output, on the channel axis
        return X


#@save
def transition_block(num_channels):
    blk = nn.HybridSequential()
    blk.add(nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(num_channels, kernel_size=1),
            nn.AvgPool2D(pool_size=2, strides=2))
    return blk


#@save
def densenet(growth_rate=32, convs_per_block=(4, 4, 4, 4), num_classes=10, fixed=True):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3),
            nn.BatchNorm(), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    num_channels = 64  # the current number of channels
    for i, num_convs in enumerate(convs_per_block):
        net.add(DenseBlock(num_convs, growth_rate))
        num_channels += num_convs * growth_rate
        if i != len(convs_per_block) - 1:  # a transition halves the channels
            net.add(transition_block(num_channels // 2))
            if fixed:  # the line the deck forgot
                num_channels //= 2
    net.add(nn.BatchNorm(), nn.Activation('relu'), nn.GlobalAvgPool2D(),
            nn.Dense(num_classes))
    return net
